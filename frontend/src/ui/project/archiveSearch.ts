/**
 * "Add existing studies": the archive search (GET /api/v1/studies/, the studies this user may
 * see, which in proxy mode include the upstream PACS's indexed studies), a series' instances
 * (QIDO-RS), and attaching a choice of studies, series and instances to a project.
 */
import type { ApiClient } from "../../api/client";

export interface ArchiveSeries {
  uid: string;
  number: number | null;
  description: string;
  modality: string;
  instance_count: number;
}

export interface ArchiveStudy {
  uid: string;
  patient_id: string;
  patient_name: string;
  date: string;
  accession_number: string;
  description: string;
  modalities: string;
  series: ArchiveSeries[];
}

export interface ArchivePage {
  count: number;
  next: string | null;
  previous: string | null;
  results: ArchiveStudy[];
}

export interface ArchiveQuery {
  patient?: string;
  description?: string;
  modality?: string;
  date_from?: string;
  date_to?: string;
  page?: number;
}

export interface ArchiveInstance {
  sop: string;
  number: number | null;
}

export interface AttachResult {
  studies: number;
  series: number;
  instances: number;
  items_created: number;
}

/** What the admin ticked: whole studies, whole series, single instances. */
export interface Choice {
  studies: Set<string>;
  series: Map<string, string>; // series uid → its study uid
  instances: Map<string, string>; // sop uid → its series uid
}

export function emptyChoice(): Choice {
  return { studies: new Set(), series: new Map(), instances: new Map() };
}

export function searchArchive(client: ApiClient, query: ArchiveQuery): Promise<ArchivePage> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  return client.http.get<ArchivePage>(`/api/v1/studies/?${params.toString()}`);
}

export async function seriesInstances(
  client: ApiClient,
  study: string,
  series: string,
): Promise<ArchiveInstance[]> {
  const { data } = await client.http.request<Record<string, { Value?: unknown[] }>[] | null>(
    `/dicomweb/studies/${study}/series/${series}/instances`,
    { headers: { Accept: "application/dicom+json" } },
  );
  return (data ?? [])
    .map((obj) => ({
      sop: String(obj["00080018"]?.Value?.[0] ?? ""),
      number: (obj["00200013"]?.Value?.[0] as number | undefined) ?? null,
    }))
    .sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
}

/** The attach requests for a choice: a series inside a chosen study, or an instance inside a
 * chosen series, is already covered and not sent again. */
export function attachRequests(choice: Choice): Record<string, string[]>[] {
  const series = [...choice.series].filter(([, study]) => !choice.studies.has(study));
  const seriesUids = new Set(series.map(([uid]) => uid));
  const instances = [...choice.instances]
    .filter(([, seriesUid]) => !seriesUids.has(seriesUid) && !choice.series.has(seriesUid))
    .map(([sop]) => sop);
  const requests: Record<string, string[]>[] = [];
  if (choice.studies.size) requests.push({ study_uids: [...choice.studies] });
  if (seriesUids.size) requests.push({ series_uids: [...seriesUids] });
  if (instances.length) requests.push({ sop_instance_uids: instances });
  return requests;
}

export async function attachChoice(
  client: ApiClient,
  projectId: number,
  choice: Choice,
): Promise<AttachResult> {
  const total: AttachResult = { studies: 0, series: 0, instances: 0, items_created: 0 };
  for (const body of attachRequests(choice)) {
    const r = await client.http.post<AttachResult>(`/api/v1/projects/${projectId}/attach`, body);
    total.studies += r.studies;
    total.series += r.series;
    total.instances += r.instances;
    total.items_created += r.items_created;
  }
  return total;
}
