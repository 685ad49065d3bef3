import { useEffect, useRef } from "react";

import type { SkipReason } from "../api/types";
import { SKIP_REASONS } from "./shortcuts";

export function SkipDialog({
  onChoose,
  onCancel,
}: {
  onChoose: (r: SkipReason) => void;
  onCancel: () => void;
}) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  return (
    <div className="modal-backdrop" onClick={onCancel}>
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="skip-title"
        data-testid="skip-dialog"
        onClick={(e) => e.stopPropagation()}
      >
        <h2 id="skip-title">Skip this image</h2>
        {SKIP_REASONS.map((r, i) => (
          <button
            key={r.value}
            ref={i === 0 ? first : undefined}
            type="button"
            onClick={() => onChoose(r.value)}
          >
            <kbd>{r.key}</kbd> {r.label}
          </button>
        ))}
        <button type="button" className="link" onClick={onCancel}>
          Cancel (Esc)
        </button>
      </div>
    </div>
  );
}
