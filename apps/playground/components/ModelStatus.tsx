import type { ModelInfo } from '@/lib/shared/protocol';

/** The model's name and state in the header, always visible (the details are in Settings). */
export function ModelStatus({ info, error }: { info: ModelInfo | undefined; error: string | undefined }) {
  const text = error
    ? 'server unreachable'
    : !info
      ? 'connecting…'
      : info.state === 'loading'
        ? `${info.name} · loading…`
        : info.state === 'error'
          ? `${info.name} · not loaded`
          : `${info.name} · ${[...new Set(Object.values(info.devices))].join(', ')}`;
  return (
    <output className="model-status" data-state={error ? 'error' : (info?.state ?? 'loading')} aria-label="Model">
      {text}
    </output>
  );
}
