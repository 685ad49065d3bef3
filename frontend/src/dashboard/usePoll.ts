import { useCallback, useEffect, useRef, useState } from "react";

export interface Polled<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
}

/**
 * Load now and again every `intervalMs` (never two requests at once). The previous answer
 * stays on screen while the next one loads; an error is shown beside it, not instead of it.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, key: unknown): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loader = useRef(load);
  loader.current = load;
  const busy = useRef(false);
  const live = useRef(true);

  const reload = useCallback(() => {
    if (busy.current) return;
    busy.current = true;
    loader.current().then(
      (value) => {
        busy.current = false;
        if (!live.current) return;
        setData(value);
        setError(null);
      },
      (err: unknown) => {
        busy.current = false;
        if (live.current) setError(String((err as Error).message ?? err));
      },
    );
  }, []);

  useEffect(() => {
    live.current = true;
    setData(null);
    reload();
    const timer = window.setInterval(reload, intervalMs);
    return () => {
      live.current = false;
      window.clearInterval(timer);
    };
  }, [key, intervalMs, reload]);

  return { data, error, reload };
}
