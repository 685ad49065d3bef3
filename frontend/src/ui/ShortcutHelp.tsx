import { useEffect, useRef } from "react";

import { SHORTCUTS } from "./shortcuts";

export function ShortcutHelp({
  onClose,
  shortcuts = SHORTCUTS,
  title = "Keyboard shortcuts",
}: {
  onClose: () => void;
  /** The screen's keys: the workspace's unless told. */
  shortcuts?: Array<[string, string]>;
  title?: string;
}) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => closeRef.current?.focus(), []);
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="shortcuts-title"
        data-testid="shortcuts"
        onClick={(e) => e.stopPropagation()}
      >
        <h2 id="shortcuts-title">{title}</h2>
        <table className="shortcuts">
          <tbody>
            {shortcuts.map(([keys, what]) => (
              <tr key={keys}>
                <th scope="row">
                  <kbd>{keys}</kbd>
                </th>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button ref={closeRef} type="button" onClick={onClose}>
          Close (Esc)
        </button>
      </div>
    </div>
  );
}
