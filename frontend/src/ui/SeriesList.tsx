import { useSession } from "./context";
import { useAsync } from "./useAsync";
import { searchSeries, seriesThumbnailUrl } from "../viewer/dicomweb";
import { num, Tag, text } from "../viewer/dicomJson";

export interface SeriesEntry {
  uid: string;
  description: string;
  modality: string;
  count: number;
  number: number;
}

/** The series of a study with their thumbnails (QIDO-RS series search + WADO-RS thumbnail). */
export function SeriesList({
  studyUid,
  activeUid,
  onOpen,
  highlightUid,
}: {
  studyUid: string;
  activeUid: string | null;
  highlightUid?: string;
  onOpen: (series: SeriesEntry) => void;
}) {
  useSession();
  const { data, error } = useAsync(async () => {
    const list = await searchSeries(studyUid);
    return list
      .map((s) => ({
        uid: text(s, Tag.SeriesInstanceUID),
        description: text(s, Tag.SeriesDescription),
        modality: text(s, Tag.Modality),
        count: num(s, "00201209") ?? 0, // Number of Series Related Instances
        number: num(s, Tag.SeriesNumber) ?? 0,
      }))
      .sort((a, b) => a.number - b.number);
  }, [studyUid]);
  if (error) return <p className="error small">Series unavailable: {error}</p>;
  return (
    <ul className="series-list" aria-label="Series" data-testid="series-list">
      {data?.map((s) => (
        <li key={s.uid}>
          <button
            type="button"
            className={s.uid === activeUid ? "series active" : "series"}
            aria-pressed={s.uid === activeUid}
            onClick={() => onOpen(s)}
            title={
              s.uid === highlightUid ? "The series of this item" : "View this series (read-only)"
            }
          >
            <img
              src={seriesThumbnailUrl(studyUid, s.uid)}
              alt=""
              width={64}
              height={64}
              loading="lazy"
            />
            <span>
              {s.modality} #{s.number} {s.uid === highlightUid ? "★" : ""}
              <br />
              <span className="muted">{s.description || "(no description)"}</span>
              <br />
              <span className="muted">
                {s.count} image{s.count === 1 ? "" : "s"}
              </span>
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}
