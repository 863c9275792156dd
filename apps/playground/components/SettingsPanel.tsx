'use client';
/** Sampling and drawing settings (kept per tab), and the model: its name, where it runs, devices, load state. */
import { DEFAULT_SETTINGS, type GenerationSettings, type ModelInfo, SCHEDULERS } from '@/lib/shared/protocol';
import { NumberSetting } from './NumberSetting';

interface Props {
  settings: GenerationSettings;
  onChange: (s: GenerationSettings) => void;
  info: ModelInfo | undefined;
  onClose: () => void;
}

export function SettingsPanel({ settings, onChange, info, onClose }: Props) {
  const set = <K extends keyof GenerationSettings>(key: K, value: GenerationSettings[K]) =>
    onChange({ ...settings, [key]: value });
  return (
    <aside className="settings" aria-labelledby="settings-title">
      <div className="settings-head">
        <h2 id="settings-title">Settings</h2>
        <button type="button" onClick={onClose} aria-label="Close settings">
          ×
        </button>
      </div>

      <section aria-labelledby="model-title">
        <h3 id="model-title">Model</h3>
        {info ? (
          <dl className="model-facts">
            <dt>Name</dt>
            <dd>{info.name}</dd>
            <dt>Runs</dt>
            <dd>{info.backend}</dd>
            <dt>State</dt>
            <dd data-state={info.state}>{info.state === 'error' ? `not loaded: ${info.error}` : info.state}</dd>
            <dt>Devices</dt>
            <dd>
              {Object.entries(info.devices)
                .map(([c, d]) => `${c}: ${d}`)
                .join(', ')}
            </dd>
            {info.context && (
              <>
                <dt>Context</dt>
                <dd>
                  {info.context.tokens} tokens; answers at most {info.context.maxAnswerTokens}
                </dd>
              </>
            )}
            <dt>Draws</dt>
            <dd>{info.canDraw ? 'yes' : 'no (no decoder: pictures come back as codes)'}</dd>
          </dl>
        ) : (
          <p className="muted">Asking the server…</p>
        )}
      </section>

      <section aria-labelledby="sampling-title">
        <h3 id="sampling-title">Answers</h3>
        <NumberSetting
          id="temperature"
          label="Temperature"
          value={settings.temperature}
          min={0}
          max={2}
          step={0.05}
          onChange={(v) => set('temperature', v)}
        />
        <NumberSetting
          id="top-p"
          label="Top-p"
          value={settings.topP}
          min={0.01}
          max={1}
          step={0.01}
          onChange={(v) => set('topP', v)}
        />
        <NumberSetting
          id="max-tokens"
          label="Max tokens"
          value={settings.maxTokens}
          min={1}
          max={2000}
          step={1}
          onChange={(v) => set('maxTokens', Math.round(v))}
        />
        <label className="setting" htmlFor="seed">
          <span>Seed</span>
          <input
            id="seed"
            type="number"
            min={0}
            step={1}
            placeholder="random"
            value={settings.seed ?? ''}
            onChange={(e) =>
              set('seed', e.target.value === '' ? null : Math.max(0, Math.floor(Number(e.target.value))))
            }
          />
        </label>
      </section>

      <section aria-labelledby="drawing-title">
        <h3 id="drawing-title">Drawing</h3>
        <NumberSetting
          id="decoder-steps"
          label="Decoder steps"
          value={settings.decoderSteps}
          min={1}
          max={100}
          step={1}
          onChange={(v) => set('decoderSteps', Math.round(v))}
        />
        <NumberSetting
          id="guidance"
          label="Guidance"
          value={settings.guidance}
          min={0}
          max={30}
          step={0.5}
          onChange={(v) => set('guidance', v)}
        />
        <label className="setting" htmlFor="scheduler">
          <span>Scheduler</span>
          <select id="scheduler" value={settings.scheduler} onChange={(e) => set('scheduler', e.target.value)}>
            {SCHEDULERS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </section>

      <button type="button" onClick={() => onChange(DEFAULT_SETTINGS)}>
        Reset to defaults
      </button>
    </aside>
  );
}
