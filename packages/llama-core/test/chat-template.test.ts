import { describe, expect, it } from 'vitest';
import { chatTemplateFor, parseLlamaConfig, renderChat } from '../src/index.js';

const image = '<img><img_00001><img_00002></img>';

describe('chat templates', () => {
  it('vicuna (SEED-LLaMA-8B): single turn, as scripts/seed_llama_inference_8B.py builds it', () => {
    expect(renderChat([{ role: 'user', content: `${image}What is this?` }], 'vicuna')).toBe(
      `<s>USER: ${image}What is this?\nASSISTANT:`,
    );
  });

  it('vicuna: multi-turn, as the demo conversation does', () => {
    const p = renderChat(
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Draw a cat' },
      ],
      'vicuna',
    );
    expect(p).toBe('<s>USER: Hi\nASSISTANT: Hello!\nUSER: Draw a cat\nASSISTANT:');
  });

  it('llama2 (SEED-LLaMA-14B): single and multi-turn, with an optional system prompt', () => {
    expect(renderChat([{ role: 'user', content: 'What is this?' }], 'llama2')).toBe(
      '<s>[INST] What is this? [/INST]\n',
    );
    expect(
      renderChat(
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'Bye' },
        ],
        'llama2',
      ),
    ).toBe('<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]\nHello!\n[INST] Bye [/INST]\n');
  });

  it('picks the template from the config', () => {
    const base = { intermediate_size: 11008, num_attention_heads: 32, vocab_size: 40194 };
    expect(chatTemplateFor(parseLlamaConfig({ ...base, hidden_size: 4096, num_hidden_layers: 32 }))).toBe('vicuna');
    expect(
      chatTemplateFor(parseLlamaConfig({ ...base, hidden_size: 5120, num_hidden_layers: 40, num_attention_heads: 40 })),
    ).toBe('llama2');
  });

  it('rejects a conversation that does not end with the user', () => {
    expect(() => renderChat([{ role: 'assistant', content: 'x' }], 'vicuna')).toThrow(/last chat message/);
    expect(() => renderChat([{ role: 'user', content: 'x' }], 'nope' as never)).toThrow(/unknown chat template/);
  });
});
