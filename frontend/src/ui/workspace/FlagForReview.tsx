/** "Flag for review": the doctor asks a reviewer to look at this item, with an optional note. */
import { useState } from "react";

interface Props {
  disabled: boolean;
  onFlag: (note: string) => Promise<void>;
}

export function FlagForReview({ disabled, onFlag }: Props) {
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState("");
  const [sending, setSending] = useState(false);
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)} disabled={disabled} data-testid="flag">
        Flag for review…
      </button>
    );
  const send = async () => {
    setSending(true);
    try {
      await onFlag(note.trim());
      setNote("");
      setOpen(false);
    } finally {
      setSending(false);
    }
  };
  return (
    <div className="flag-form">
      <label className="comment-box">
        Why should a reviewer look at it? (optional)
        <textarea
          rows={2}
          value={note}
          autoFocus
          onChange={(e) => setNote(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape") setOpen(false);
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void send();
          }}
        />
      </label>
      <button type="button" onClick={() => void send()} disabled={sending}>
        Send flag <kbd>Ctrl+Enter</kbd>
      </button>
      <button type="button" className="link" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </div>
  );
}
