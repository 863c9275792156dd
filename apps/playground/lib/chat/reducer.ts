/**
 * The chat's state changes, as one pure reducer: the component layer only dispatches, so everything that
 * decides what the conversation looks like — streaming, stopping, errors, regenerate and edit — is tested
 * without a browser.
 */
import type { WireEvent, WireMessage, WirePart } from '../shared/protocol';
import type { ChatError, ChatMessage, ChatPart, ImagePart, Redraw } from './types';

export interface ChatState {
  messages: ChatMessage[];
}

export type ChatAction =
  /** A turn begins: the user's message (absent when regenerating) and an empty answer waiting for the model. */
  | { type: 'start'; user?: ChatMessage; assistantId: string; draw: boolean }
  | { type: 'event'; id: string; event: WireEvent }
  | { type: 'fail'; id: string; error: ChatError }
  | { type: 'stop'; id: string }
  /** Drop a message and everything after it (regenerate, edit). */
  | { type: 'truncate'; from: number }
  | { type: 'replace'; messages: ChatMessage[] }
  | { type: 'redraw'; messageId: string; imageId: string; redraw: Partial<Redraw> | undefined };

export const initialState: ChatState = { messages: [] };

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'start': {
      const answer: ChatMessage = {
        id: action.assistantId,
        role: 'assistant',
        parts: [],
        status: 'pending',
        draw: action.draw,
      };
      return { messages: [...state.messages, ...(action.user ? [action.user] : []), answer] };
    }
    case 'event':
      return mapMessage(state, action.id, (m) => applyEvent(m, action.event));
    case 'fail':
      return mapMessage(state, action.id, (m) => ({
        ...m,
        status: 'error',
        error: action.error,
        queuePosition: undefined,
        parts: m.parts.map(withoutProgress),
      }));
    case 'stop':
      return mapMessage(state, action.id, (m) =>
        m.status === 'pending' || m.status === 'streaming'
          ? { ...m, status: 'stopped', queuePosition: undefined, parts: m.parts.map(withoutProgress) }
          : m,
      );
    case 'truncate':
      return { messages: state.messages.slice(0, action.from) };
    case 'replace':
      return { messages: action.messages };
    case 'redraw':
      return mapMessage(state, action.messageId, (m) => ({
        ...m,
        parts: m.parts.map((p) =>
          p.type === 'image' && p.id === action.imageId
            ? { ...p, redraw: action.redraw ? ({ ...p.redraw, ...action.redraw } as Redraw) : undefined }
            : p,
        ),
      }));
  }
}

/** The new state of an answer after one streamed event. */
export function applyEvent(m: ChatMessage, e: WireEvent): ChatMessage {
  switch (e.type) {
    case 'queued':
      return { ...m, status: 'pending', queuePosition: e.position };
    case 'text': {
      const parts = [...m.parts];
      const last = parts.at(-1);
      if (last?.type === 'text') parts[parts.length - 1] = { ...last, text: last.text + e.text };
      else parts.push({ type: 'text', text: e.text });
      return { ...m, status: 'streaming', queuePosition: undefined, parts };
    }
    case 'image-start':
      return {
        ...m,
        status: 'streaming',
        queuePosition: undefined,
        parts: [...m.parts, { type: 'image', id: `${m.id}-image-${e.index}`, origin: 'generated', index: e.index }],
      };
    case 'image-codes':
      return withImage(m, e.index, (p) => ({ ...p, codes: e.codes }));
    case 'decoder-step':
      return withImage(m, e.index, (p) => ({ ...p, progress: { step: e.step, total: e.total } }));
    case 'image':
      return withImage(m, e.index, (p) => ({
        ...p,
        codes: e.codes,
        src: e.png ? `data:image/png;base64,${e.png}` : undefined,
        width: e.width,
        height: e.height,
        progress: undefined,
      }));
    case 'done':
      return {
        ...m,
        status: e.reason === 'aborted' ? 'stopped' : 'done',
        queuePosition: undefined,
        parts: m.parts.map(withoutProgress),
        note:
          e.reason === 'max-tokens' && !m.draw
            ? 'The answer reached the token limit (Settings → Max tokens).'
            : e.reason === 'context'
              ? 'The conversation filled the model’s context; start a new chat to go on.'
              : undefined,
      };
    case 'error':
      return {
        ...m,
        status: 'error',
        queuePosition: undefined,
        parts: m.parts.map(withoutProgress),
        error: { message: e.message, retry: e.code !== 'invalid_image' && e.code !== 'context_length_exceeded' },
      };
  }
}

/** The conversation as the server takes it: images by their codes (or, when unknown, their preview). */
export function toWire(messages: readonly ChatMessage[]): WireMessage[] {
  return messages.map((m) => ({
    role: m.role,
    parts: m.parts.flatMap((p): WirePart[] => {
      if (p.type === 'text') return p.text ? [{ type: 'text' as const, text: p.text }] : [];
      if (p.codes) return [{ type: 'image' as const, codes: p.codes }];
      // An image the model began but never finished (stopped mid-span) is not part of the conversation.
      return p.origin === 'upload' && p.src ? [{ type: 'image' as const, dataUrl: p.src }] : [];
    }),
  }));
}

/** The plain text of a message (for copying). */
export function messageText(m: ChatMessage): string {
  return m.parts
    .filter((p): p is Extract<ChatPart, { type: 'text' }> => p.type === 'text')
    .map((p) => p.text)
    .join('');
}

/** A conversation read back after a reload: an answer that was streaming then can no longer finish. */
export function restored(messages: ChatMessage[]): ChatMessage[] {
  return messages.map((m) =>
    m.status === 'pending' || m.status === 'streaming'
      ? { ...m, status: 'stopped', queuePosition: undefined, parts: m.parts.map(withoutProgress) }
      : m,
  );
}

function mapMessage(state: ChatState, id: string, f: (m: ChatMessage) => ChatMessage): ChatState {
  return { messages: state.messages.map((m) => (m.id === id ? f(m) : m)) };
}

function withImage(m: ChatMessage, index: number, f: (p: ImagePart) => ImagePart): ChatMessage {
  return {
    ...m,
    parts: m.parts.map((p) => (p.type === 'image' && p.origin === 'generated' && p.index === index ? f(p) : p)),
  };
}

function withoutProgress(p: ChatPart): ChatPart {
  if (p.type !== 'image') return p;
  const redraw = p.redraw?.status === 'drawing' ? undefined : p.redraw;
  return p.progress || redraw !== p.redraw ? { ...p, progress: undefined, redraw } : p;
}
