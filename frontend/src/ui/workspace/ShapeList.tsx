/** The shapes on the image, each with a delete button. */
import type { AnnotationDocument } from "../../viewer/annotationDocument";

export function ShapeList({ doc }: { doc: AnnotationDocument }) {
  return (
    <ul className="shape-list" aria-label="Shapes on this image" data-testid="shape-list">
      {doc
        .all()
        .filter((s) => s.kind !== "class")
        .map((s) => (
          <li key={s.uid}>
            {s.kind} · {(s.payload as { label?: string }).label} · frame {s.frame}
            <button
              type="button"
              className="link"
              onClick={() => doc.remove(s.uid)}
              aria-label={`Delete ${s.kind}`}
            >
              ✕
            </button>
          </li>
        ))}
    </ul>
  );
}
