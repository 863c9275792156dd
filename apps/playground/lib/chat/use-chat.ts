'use client';
/**
 * The chat as a hook: the reducer's state, kept in sessionStorage, and the requests that feed it — send,
 * stop, regenerate, edit and resend, retry, new chat, and drawing an image again from its codes.
 * One answer streams at a time per tab; other tabs share the model through the server's queue.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { DEFAULT_SETTINGS, type GenerationSettings } from '../shared/protocol';
import { describeFailure, streamEvents } from './api-client';
import { chatReducer, initialState, toWire } from './reducer';
import { loadMessages, loadSettings, saveMessages, saveSettings } from './storage';
import type { ChatMessage, ChatPart } from './types';

let counter = 0;
/** Ids unique within a tab and across reloads (the conversation is restored with its ids). */
export const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export interface Chat {
  messages: ChatMessage[];
  busy: boolean;
  /** Whether the conversation could be saved for reloads (false when pictures filled the storage). */
  saved: boolean;
  settings: GenerationSettings;
  setSettings: (s: GenerationSettings) => void;
  send: (parts: ChatPart[], draw: boolean) => void;
  stop: () => void;
  regenerate: () => void;
  edit: (messageId: string, text: string) => void;
  newChat: () => void;
  redraw: (messageId: string, imageId: string, codes: number[]) => void;
}

export function useChat(): Chat {
  const [state, dispatch] = useReducer(chatReducer, initialState);
  const [settings, setSettingsState] = useState<GenerationSettings>(DEFAULT_SETTINGS);
  const [restoredFromStorage, setRestored] = useState(false);
  const [saved, setSaved] = useState(true);
  const current = useRef<{ id: string; controller: AbortController } | undefined>(undefined);
  const redraws = useRef(new Map<string, AbortController>());
  // Requests are built from the latest state, not the render's (callbacks may run before a re-render).
  const latest = useRef(state.messages);
  latest.current = state.messages;
  const settingsRef = useRef(settings);
  settingsRef.current = settings;

  // Read what this tab kept only after hydration: the server rendered an empty chat.
  useEffect(() => {
    dispatch({ type: 'replace', messages: loadMessages() });
    setSettingsState(loadSettings());
    setRestored(true);
  }, []);

  // Saving while text streams would rewrite every picture for every token: wait for a quiet moment.
  useEffect(() => {
    if (!restoredFromStorage) return;
    const t = setTimeout(() => setSaved(saveMessages(state.messages)), 250);
    return () => clearTimeout(t);
  }, [state.messages, restoredFromStorage]);

  // …and at once when the page goes away (reload, tab closed), so that the last moment is not lost.
  useEffect(() => {
    if (!restoredFromStorage) return;
    const flush = () => saveMessages(latest.current);
    window.addEventListener('pagehide', flush);
    return () => window.removeEventListener('pagehide', flush);
  }, [restoredFromStorage]);

  const busy = state.messages.some((m) => m.status === 'pending' || m.status === 'streaming');

  const run = useCallback(async (conversation: ChatMessage[], user: ChatMessage | undefined, draw: boolean) => {
    const id = newId('answer');
    const controller = new AbortController();
    current.current = { id, controller };
    dispatch({ type: 'start', user, assistantId: id, draw });
    const messages = toWire(user ? [...conversation, user] : conversation);
    try {
      await streamEvents('/api/chat', { messages, settings: settingsRef.current, draw }, controller.signal, (event) =>
        dispatch({ type: 'event', id, event }),
      );
    } catch (e) {
      if (controller.signal.aborted) dispatch({ type: 'stop', id });
      else dispatch({ type: 'fail', id, error: describeFailure(e) });
    } finally {
      if (current.current?.id === id) current.current = undefined;
    }
  }, []);

  const send = useCallback(
    (parts: ChatPart[], draw: boolean) => {
      if (current.current) return;
      const user: ChatMessage = { id: newId('user'), role: 'user', parts, status: 'done', draw };
      void run(latest.current, user, draw);
    },
    [run],
  );

  const stop = useCallback(() => current.current?.controller.abort(), []);

  /** Answer the last user message again (also what "retry" does after a failure). */
  const regenerate = useCallback(() => {
    if (current.current) return;
    const messages = latest.current;
    const at = messages.findLastIndex((m) => m.role === 'user');
    if (at < 0) return;
    dispatch({ type: 'truncate', from: at + 1 });
    void run(messages.slice(0, at + 1), undefined, messages[at].draw ?? false);
  }, [run]);

  const edit = useCallback(
    (messageId: string, text: string) => {
      if (current.current) return;
      const messages = latest.current;
      const at = messages.findIndex((m) => m.id === messageId);
      if (at < 0) return;
      const old = messages[at];
      // The edited text replaces the old text; the message's images stay, ahead of it as when first sent.
      const parts: ChatPart[] = [
        ...old.parts.filter((p) => p.type === 'image'),
        ...(text ? [{ type: 'text' as const, text }] : []),
      ];
      if (parts.length === 0) return;
      dispatch({ type: 'truncate', from: at });
      void run(messages.slice(0, at), { ...old, id: newId('user'), parts }, old.draw ?? false);
    },
    [run],
  );

  const newChat = useCallback(() => {
    current.current?.controller.abort();
    for (const c of redraws.current.values()) c.abort();
    dispatch({ type: 'replace', messages: [] });
    saveMessages([]);
  }, []);

  const redraw = useCallback((messageId: string, imageId: string, codes: number[]) => {
    redraws.current.get(imageId)?.abort();
    const controller = new AbortController();
    redraws.current.set(imageId, controller);
    const update = (r: Parameters<typeof chatReducer>[1] & { type: 'redraw' }) => dispatch(r);
    update({
      type: 'redraw',
      messageId,
      imageId,
      redraw: { status: 'drawing', progress: undefined, src: undefined, error: undefined },
    });
    void streamEvents('/api/redraw', { codes, settings: settingsRef.current }, controller.signal, (e) => {
      if (e.type === 'queued') update({ type: 'redraw', messageId, imageId, redraw: { queuePosition: e.position } });
      else if (e.type === 'decoder-step')
        update({
          type: 'redraw',
          messageId,
          imageId,
          redraw: { queuePosition: undefined, progress: { step: e.step, total: e.total } },
        });
      else if (e.type === 'image')
        update({
          type: 'redraw',
          messageId,
          imageId,
          redraw: { status: 'done', progress: undefined, src: e.png && `data:image/png;base64,${e.png}` },
        });
      else if (e.type === 'error')
        update({ type: 'redraw', messageId, imageId, redraw: { status: 'error', error: e.message } });
    })
      .catch((e) => {
        if (!controller.signal.aborted)
          update({
            type: 'redraw',
            messageId,
            imageId,
            redraw: { status: 'error', error: describeFailure(e).message },
          });
      })
      .finally(() => {
        if (redraws.current.get(imageId) === controller) redraws.current.delete(imageId);
      });
  }, []);

  const setSettings = useCallback((s: GenerationSettings) => {
    setSettingsState(s);
    saveSettings(s);
  }, []);

  return {
    messages: state.messages,
    busy,
    saved,
    settings,
    setSettings,
    send,
    stop,
    regenerate,
    edit,
    newChat,
    redraw,
  };
}
