'use client';
/**
 * Images attached to the message being written. Each is checked at once (size limit, really an image), shown
 * as a preview, and turned into its 32 SEED codes by the server while the user types — so sending is instant
 * and the codes grid of an uploaded image is what the model will read.
 */
import { useCallback, useRef, useState } from 'react';
import { checkImage, MAX_IMAGE_BYTES } from '../shared/image-check';
import { describeFailure, tokenize } from './api-client';
import { previewDataUrl } from './preview';
import type { Attachment } from './types';
import { newId } from './use-chat';

export interface Attachments {
  items: Attachment[];
  /** Why the last file offered could not be attached (shown until the next attempt). */
  problem: string | undefined;
  /** Every attachment has its preview and codes: the message can be sent. */
  ready: boolean;
  add: (files: Iterable<File>) => void;
  remove: (id: string) => void;
  clear: () => void;
}

export function useAttachments(maxBytes = MAX_IMAGE_BYTES): Attachments {
  const [items, setItems] = useState<Attachment[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const live = useRef(new Map<string, AbortController>());

  const update = useCallback((id: string, patch: Partial<Attachment>) => {
    setItems((all) => all.map((a) => (a.id === id ? { ...a, ...patch } : a)));
  }, []);

  const attach = useCallback(
    async (file: File) => {
      const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
      const why = checkImage(file.name, file.size, head, maxBytes);
      if (why) {
        setProblem(why);
        return;
      }
      const id = newId('image');
      const controller = new AbortController();
      live.current.set(id, controller);
      setItems((all) => [...all, { id, name: file.name, status: 'reading' }]);
      let preview: string;
      try {
        preview = await previewDataUrl(file);
      } catch {
        update(id, { status: 'error', error: `${file.name} could not be read as an image.` });
        return;
      }
      update(id, { preview, status: 'encoding' });
      try {
        const codes = await tokenize(file, file.name, controller.signal);
        update(id, { codes, status: 'ready' });
      } catch (e) {
        if (!controller.signal.aborted) update(id, { status: 'error', error: describeFailure(e).message });
      } finally {
        live.current.delete(id);
      }
    },
    [maxBytes, update],
  );

  const add = useCallback(
    (files: Iterable<File>) => {
      setProblem(undefined);
      for (const f of files) void attach(f);
    },
    [attach],
  );

  const remove = useCallback((id: string) => {
    live.current.get(id)?.abort();
    setItems((all) => all.filter((a) => a.id !== id));
  }, []);

  const clear = useCallback(() => {
    setItems([]);
    setProblem(undefined);
  }, []);

  const ready = items.every((a) => a.status === 'ready');
  return { items, problem, ready, add, remove, clear };
}
