/**
 * Links to the AI study report of a study, one per project holding it whose report the caller
 * may read (reports.services.study_report.report_links). In the workspace, `projectId` keeps
 * only that project's.
 */
import { useSession } from "../context";
import { useAsync } from "../useAsync";

interface ReportLink {
  project: number;
  project_name: string;
  url: string;
  pdf_url: string;
}

export function ReportLinks({ studyUid, projectId }: { studyUid: string; projectId?: number }) {
  const { client } = useSession();
  const links = useAsync(
    () => client.http.get<ReportLink[]>(`/api/v1/studies/${studyUid}/reports`),
    [studyUid],
  );
  const shown = (links.data ?? []).filter(
    (l) => projectId === undefined || l.project === projectId,
  );
  if (shown.length === 0) return null;
  return (
    <nav className="report-links small" aria-label="AI study reports" data-testid="report-links">
      {shown.map((l) => (
        <p key={l.project}>
          <a href={l.url} target="_blank" rel="noopener">
            AI study report{projectId === undefined ? ` · ${l.project_name}` : ""}
          </a>{" "}
          (<a href={l.pdf_url}>PDF</a>)
        </p>
      ))}
    </nav>
  );
}
