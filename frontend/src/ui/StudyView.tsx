import { useCallback, useEffect, useState } from "react";

import type { DicomJson } from "../viewer/dicomJson";
import { prepareSeries } from "../viewer/itemLoader";
import type { ViewState } from "../viewer/stackViewer";
import { installTestHook } from "../viewer/testHook";
import { useNavigationKeys } from "./navigationKeys";
import { Overlay } from "./Overlay";
import { ReportLinks } from "./project/ReportLinks";
import { SeriesList, type SeriesEntry } from "./SeriesList";
import { ViewerToolbar } from "./ViewerToolbar";
import { useStackViewer } from "./useStackViewer";

/** A study opened read-only from the study browser: series thumbnails and the viewer. */
export function StudyView({ studyUid }: { studyUid: string }) {
  const [ref, viewer, startError] = useStackViewer();
  const [series, setSeries] = useState<string | null>(null);
  const [metadata, setMetadata] = useState<DicomJson[]>([]);
  const [view, setView] = useState<ViewState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<"idle" | "loading" | "ready" | "error">("idle");

  const open = useCallback(
    async (entry: SeriesEntry) => {
      if (!viewer) return;
      setSeries(entry.uid);
      setStatus("loading");
      try {
        const stack = await prepareSeries(studyUid, entry.uid);
        setMetadata(stack.metadata);
        await viewer.show(stack.imageIds, 0);
        setStatus("ready");
      } catch (err) {
        setError(String(err));
        setStatus("error");
      }
    },
    [viewer, studyUid],
  );

  useEffect(() => {
    if (!viewer) return;
    const stop = viewer.subscribe(() => setView(viewer.state()));
    const uninstall = installTestHook({ viewer, status: () => ({ state: status, series }) });
    return () => {
      stop();
      uninstall();
    };
  }, [viewer, status, series]);

  useNavigationKeys(viewer, metadata[view?.index ?? 0]);

  return (
    <main className="study-view">
      <aside className="side">
        <h2 className="small-title">Series</h2>
        <SeriesList studyUid={studyUid} activeUid={series} onOpen={(s) => void open(s)} />
        <ReportLinks studyUid={studyUid} />
      </aside>
      <section className="viewer-column">
        {viewer && <ViewerToolbar viewer={viewer} modality={metaModality(metadata[0])} />}
        <div className="viewport-wrap">
          <div ref={ref} className="viewport" data-testid="viewport" tabIndex={-1} />
          <Overlay meta={metadata[view?.index ?? 0]} view={view} showIdentity={false} />
          {!series && <p className="hint">Choose a series on the left.</p>}
        </div>
        {(error || startError) && (
          <p className="error" role="alert">
            {error || startError}
          </p>
        )}
      </section>
    </main>
  );
}

function metaModality(meta: DicomJson | undefined): string {
  return (meta?.["00080060"]?.Value?.[0] as string | undefined) ?? "";
}
