import { useState } from "react";

import type { StudySearch } from "../api/client";
import { useSession } from "./context";
import { linkHandler } from "./router";
import { useAsync } from "./useAsync";

/** Search the studies this user may see and open any of them read-only. */
export function StudyBrowser() {
  const { client } = useSession();
  const [form, setForm] = useState<StudySearch>({});
  const [query, setQuery] = useState<StudySearch>({});
  const { data, error, loading } = useAsync(() => client.studies(query), [JSON.stringify(query)]);
  const field = (key: keyof StudySearch, label: string, placeholder = "") => (
    <label>
      {label}
      <input
        name={key}
        value={(form[key] as string | undefined) ?? ""}
        placeholder={placeholder}
        onChange={(e) => setForm({ ...form, [key]: e.target.value })}
      />
    </label>
  );
  return (
    <main className="page">
      <h1>Studies</h1>
      <form
        className="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ ...form, page: 1 });
        }}
      >
        {field("search", "Search", "description, accession…")}
        {field("modality", "Modality", "CT")}
        {field("patient_id", "Patient ID")}
        {field("date_from", "From", "YYYYMMDD")}
        {field("date_to", "To", "YYYYMMDD")}
        <button type="submit">Search</button>
      </form>
      {loading && <p role="status">Loading…</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {data && (
        <>
          <p className="muted">
            {data.count} stud{data.count === 1 ? "y" : "ies"}
          </p>
          <table className="grid" data-testid="study-list">
            <thead>
              <tr>
                <th>Study</th>
                <th>Date</th>
                <th>Modalities</th>
                <th>Series</th>
              </tr>
            </thead>
            <tbody>
              {data.results.map((s) => {
                const path = `/app/studies/${s.uid}`;
                return (
                  <tr key={s.uid}>
                    <td>
                      <a href={path} onClick={linkHandler(path)}>
                        {String(s.description || s.uid)}
                      </a>
                    </td>
                    <td>{String(s.date ?? "")}</td>
                    <td>{String(s.modalities ?? "")}</td>
                    <td className="thumbs">
                      {s.series.map((se) => (
                        <span
                          key={se.uid}
                          className="thumb"
                          title={`${se.modality} ${se.description} (${se.instance_count})`}
                        >
                          {se.thumbnail_url ? (
                            <img
                              src={se.thumbnail_url}
                              alt=""
                              width={40}
                              height={40}
                              loading="lazy"
                            />
                          ) : null}
                          {se.modality} · {se.instance_count}
                        </span>
                      ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div className="pager">
            <button
              type="button"
              disabled={!data.previous}
              onClick={() => setQuery({ ...query, page: (query.page ?? 1) - 1 })}
            >
              Previous
            </button>
            <button
              type="button"
              disabled={!data.next}
              onClick={() => setQuery({ ...query, page: (query.page ?? 1) + 1 })}
            >
              Next
            </button>
          </div>
        </>
      )}
    </main>
  );
}
