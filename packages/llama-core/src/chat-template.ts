/**
 * Chat templates of the two SEED-LLaMA variants (reference: AILab-CVC/SEED gradio_demo/conversation.py
 * and scripts/seed_llama_inference_*.py), written as Jinja templates and rendered with @huggingface/jinja:
 * - `vicuna` (SEED-LLaMA-8B, Vicuna v1.1): `<s>USER: {user}\nASSISTANT: {reply}\nUSER: …\nASSISTANT:`
 * - `llama2` (SEED-LLaMA-14B, LLaMA-2-chat): `<s>[INST] {user} [/INST]\n{reply}\n[INST] … [/INST]\n`,
 *   with an optional `<<SYS>>\n{system}\n<</SYS>>\n\n` inside the first [INST].
 * Image tokens (`<img>` + 32 codes + `</img>`) go inside the user text where the image is.
 */
import { Template } from '@huggingface/jinja';
import type { LlamaConfig } from './config.js';

export type ChatTemplateName = 'vicuna' | 'llama2';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const TEMPLATES: Record<ChatTemplateName, string> = {
  vicuna:
    '{{ bos_token }}{% for m in messages %}' +
    '{% if m.role == "system" %}{{ m.content }}{% if m.content %} {% endif %}' +
    '{% elif m.role == "user" %}USER: {{ m.content }}\n' +
    '{% else %}ASSISTANT: {{ m.content }}\n{% endif %}' +
    '{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}',
  llama2:
    '{{ bos_token }}{% set sys = namespace(text="") %}{% for m in messages %}' +
    '{% if m.role == "system" %}{% set sys.text = m.content %}' +
    '{% elif m.role == "user" %}[INST] {% if sys.text %}<<SYS>>\n{{ sys.text }}\n<</SYS>>\n\n{% set sys.text = "" %}{% endif %}{{ m.content }} [/INST]\n' +
    '{% else %}{{ m.content }}\n{% endif %}' +
    '{% endfor %}',
};

/**
 * Where a reply ends in each template: the model goes on to write the next user turn, which must not be
 * shown as its answer. Vicuna's turn marker usually follows a newline; cut before that newline when it does.
 */
const STOP_STRINGS: Record<ChatTemplateName, readonly string[]> = {
  vicuna: ['\nUSER:', 'USER:'],
  llama2: ['[INST]'],
};

const compiled = new Map<ChatTemplateName, Template>();

/** Render a conversation into the prompt string the model was trained on (ending where the model speaks). */
export function renderChat(
  messages: readonly ChatMessage[],
  template: ChatTemplateName,
  options: { addGenerationPrompt?: boolean } = {},
): string {
  if (!(template in TEMPLATES)) throw new Error(`unknown chat template '${template}' (expected vicuna or llama2)`);
  if (messages.length === 0 || messages[messages.length - 1].role !== 'user') {
    if ((options.addGenerationPrompt ?? true) === true) throw new Error('the last chat message must be from the user');
  }
  for (const m of messages)
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant')
      throw new Error(`unknown chat role '${String(m.role)}'`);
  let t = compiled.get(template);
  if (!t) {
    t = new Template(TEMPLATES[template]);
    compiled.set(template, t);
  }
  return t.render({ messages, bos_token: '<s>', add_generation_prompt: options.addGenerationPrompt ?? true });
}

/** The strings that end a reply in `template` (pass them as `stopStrings` to `generate`). */
export function chatStopStrings(template: ChatTemplateName): readonly string[] {
  if (!(template in STOP_STRINGS)) throw new Error(`unknown chat template '${template}' (expected vicuna or llama2)`);
  return STOP_STRINGS[template];
}

/** The template a SEED-LLaMA checkpoint was trained with: 14B (40 layers, width 5120) is LLaMA-2, 8B Vicuna. */
export function chatTemplateFor(config: LlamaConfig): ChatTemplateName {
  return config.dim === 5120 || config.nLayers === 40 ? 'llama2' : 'vicuna';
}
