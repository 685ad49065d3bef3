import type { DicomJson } from "../viewer/dicomJson";
import { nums, num, Tag, text } from "../viewer/dicomJson";
import type { ViewState } from "../viewer/stackViewer";

/**
 * The corner overlay: the DICOM facts a reader checks at a glance. Patient identity appears
 * only when the project explicitly keeps it (deidentify === false) and the object does not say
 * its identity was removed (PS3.3 C.7.1.1, Patient Identity Removed).
 */
export function Overlay({
  meta,
  view,
  showIdentity,
  frameLabel,
}: {
  meta: DicomJson | undefined;
  view: ViewState | null;
  showIdentity: boolean;
  frameLabel?: string;
}) {
  if (!meta) return null;
  const identityRemoved = text(meta, Tag.PatientIdentityRemoved).toUpperCase() === "YES";
  const identity = showIdentity && !identityRemoved;
  const spacing = nums(meta, Tag.PixelSpacing);
  const thickness = num(meta, Tag.SliceThickness);
  return (
    <div className="overlay" aria-hidden="true" data-testid="overlay">
      <div className="corner tl">
        {identity && (
          <div data-testid="overlay-patient">
            {text(meta, Tag.PatientName)} · {text(meta, Tag.PatientID)}
          </div>
        )}
        <div>
          {text(meta, Tag.Modality)} {text(meta, Tag.BodyPartExamined)}
        </div>
        <div>{text(meta, Tag.SeriesDescription) || text(meta, Tag.StudyDescription)}</div>
        {identity && <div>{text(meta, Tag.StudyDate)}</div>}
      </div>
      <div className="corner tr">
        <div>{frameLabel ?? (view ? `Image ${view.index + 1}/${view.count}` : "")}</div>
        <div>
          {num(meta, Tag.Columns)}×{num(meta, Tag.Rows)}
          {spacing.length === 2 ? ` · ${spacing[1].toFixed(2)}×${spacing[0].toFixed(2)} mm` : ""}
        </div>
        {thickness !== undefined && <div>Slice {thickness} mm</div>}
      </div>
      <div className="corner bl">
        {view?.voi && (
          <div data-testid="overlay-voi">
            W {Math.round(view.voi.width)} L {Math.round(view.voi.center)}
            {view.invert ? " · inverted" : ""}
          </div>
        )}
      </div>
      <div className="corner br">{view && <div>Zoom {view.zoom.toFixed(2)}×</div>}</div>
    </div>
  );
}
