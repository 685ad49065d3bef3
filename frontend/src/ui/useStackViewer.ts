import { useEffect, useRef, useState } from "react";

import { startCornerstone } from "../viewer/cornerstone";
import { StackViewer } from "../viewer/stackViewer";

/** Whether this page asked for CPU rendering (?cpu=1), e.g. the smoke test. */
export function wantsCpu(): boolean {
  return new URLSearchParams(location.search).get("cpu") === "1";
}

/** Create one StackViewer on the element behind the returned ref; null until ready. */
export function useStackViewer(): [
  React.RefObject<HTMLDivElement | null>,
  StackViewer | null,
  string | null,
] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [viewer, setViewer] = useState<StackViewer | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let created: StackViewer | null = null;
    let live = true;
    startCornerstone({ cpu: wantsCpu() })
      .then(() => {
        if (!live || !ref.current) return;
        created = new StackViewer(ref.current);
        setViewer(created);
      })
      .catch((err: unknown) => live && setError(String(err)));
    return () => {
      live = false;
      created?.destroy();
    };
  }, []);
  return [ref, viewer, error];
}
