/** The item's comments, oldest first, and a box to add one (C focuses it, Ctrl+Enter sends). */
import { useEffect, useState, type RefObject } from "react";

import type { ApiClient } from "../../api/client";
import type { ItemComment } from "../../api/types";
import { describe } from "../labellingLoop";

interface Props {
  client: ApiClient;
  itemId: number;
  boxRef: RefObject<HTMLTextAreaElement | null>;
  onAdded: (count: number) => void;
}

export function ReviewComments({ client, itemId, boxRef, onAdded }: Props) {
  const [comments, setComments] = useState<ItemComment[] | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    let live = true;
    setComments(null);
    client.comments(itemId).then(
      (list) => live && setComments(list),
      (err: unknown) => live && setError(describe(err)),
    );
    return () => {
      live = false;
    };
  }, [client, itemId]);

  const send = async () => {
    if (!text.trim() || sending) return;
    setSending(true);
    setError(null);
    try {
      const added = await client.addComment(itemId, text.trim());
      const list = [...(comments ?? []), added];
      setComments(list);
      setText("");
      onAdded(list.length);
    } catch (err) {
      setError(describe(err));
    } finally {
      setSending(false);
    }
  };

  return (
    <section className="review-comments" aria-labelledby="comments-title">
      <h2 id="comments-title" className="small-title">
        Comments
      </h2>
      <ul className="comment-list" data-testid="comments">
        {comments?.map((c) => (
          <li key={c.id}>
            <strong>{c.author_name}</strong>{" "}
            <span className="muted">{new Date(c.created_at).toLocaleString()}</span>
            <p>{c.text}</p>
          </li>
        ))}
        {comments && comments.length === 0 && <li className="muted">No comments yet.</li>}
      </ul>
      <label className="comment-box">
        <span>
          Add a comment <kbd>C</kbd>
        </span>
        <textarea
          ref={boxRef}
          rows={2}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void send();
            } else if (e.key === "Escape") {
              e.currentTarget.blur(); // back to the review keys
            }
          }}
          data-testid="comment-text"
        />
      </label>
      <button
        type="button"
        onClick={() => void send()}
        disabled={sending || !text.trim()}
        data-testid="comment-send"
      >
        Add comment <kbd>Ctrl+Enter</kbd>
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
