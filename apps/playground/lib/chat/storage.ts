/**
 * The conversation and settings kept per tab (sessionStorage): a reload keeps them, a new tab starts
 * afresh. Writing can fail when pictures fill the storage quota; the chat goes on, only unsaved.
 */
import { DEFAULT_SETTINGS, type GenerationSettings } from '../shared/protocol';
import { restored } from './reducer';
import type { ChatMessage } from './types';

const CHAT_KEY = 'seed-playground:chat:v1';
const SETTINGS_KEY = 'seed-playground:settings:v1';

export function loadMessages(storage: Storage | undefined = globalThis.sessionStorage): ChatMessage[] {
  try {
    const raw = storage?.getItem(CHAT_KEY);
    return raw ? restored(JSON.parse(raw) as ChatMessage[]) : [];
  } catch {
    return [];
  }
}

/** Returns false when the conversation could not be saved (quota). */
export function saveMessages(
  messages: ChatMessage[],
  storage: Storage | undefined = globalThis.sessionStorage,
): boolean {
  try {
    if (messages.length === 0) storage?.removeItem(CHAT_KEY);
    else storage?.setItem(CHAT_KEY, JSON.stringify(messages));
    return true;
  } catch {
    return false;
  }
}

export function loadSettings(storage: Storage | undefined = globalThis.sessionStorage): GenerationSettings {
  try {
    const raw = storage?.getItem(SETTINGS_KEY);
    return raw ? { ...DEFAULT_SETTINGS, ...(JSON.parse(raw) as Partial<GenerationSettings>) } : DEFAULT_SETTINGS;
  } catch {
    return DEFAULT_SETTINGS;
  }
}

export function saveSettings(settings: GenerationSettings, storage: Storage | undefined = globalThis.sessionStorage) {
  try {
    storage?.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    // Settings are small; if even they cannot be stored, they simply last until the tab closes.
  }
}
