'use client';
/** The server's model (name, devices, load state, what it can do), asked again while it is still loading. */
import { useEffect, useState } from 'react';
import type { ModelInfo } from '../shared/protocol';
import { describeFailure, fetchModelInfo } from './api-client';

export function useModelInfo(): { info: ModelInfo | undefined; error: string | undefined } {
  const [info, setInfo] = useState<ModelInfo>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const ask = async () => {
      try {
        const i = await fetchModelInfo();
        if (stopped) return;
        setInfo(i);
        setError(undefined);
        if (i.state === 'loading') timer = setTimeout(ask, 1000);
      } catch (e) {
        if (stopped) return;
        setError(describeFailure(e).message);
        timer = setTimeout(ask, 3000);
      }
    };
    void ask();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  return { info, error };
}
