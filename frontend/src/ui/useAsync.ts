import { useEffect, useRef, useState } from "react";

export interface AsyncState<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

/**
 * Run an async loader whenever `deps` change. An answer is only returned for the deps it was
 * loaded with: during the render right after a change, the previous answer (say, another
 * study's series) is not shown, so no request is made from stale data.
 */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): AsyncState<T> {
  const key = JSON.stringify(deps);
  const [state, setState] = useState<AsyncState<T> & { key: string | null }>({
    data: null,
    error: null,
    loading: true,
    key: null,
  });
  // The latest loader, so that the effect below runs for new deps only, not for each render's
  // new closure (declared first: it runs before the load in the same commit).
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  useEffect(() => {
    let live = true;
    loadRef.current().then(
      (data) => live && setState({ data, error: null, loading: false, key }),
      (err: unknown) =>
        live &&
        setState({ data: null, error: String((err as Error).message ?? err), loading: false, key }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return state.key === key ? state : { data: null, error: null, loading: true };
}
