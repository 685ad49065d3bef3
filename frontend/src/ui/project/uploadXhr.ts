/**
 * One batch of files to POST /api/v1/uploads/ through XMLHttpRequest: fetch() cannot report upload
 * progress. Errors are the ones src/api/http.ts defines, so the queue retries the same cases
 * as the workspace does (no answer, or a 5xx).
 */
import { ApiError, NetworkError } from "../../api/http";
import type { Sender, UploadAnswer } from "./uploadQueue";

export const UPLOAD_URL = "/api/v1/uploads/";

export function xhrSender(projectId: number, csrf: string): Sender {
  return (batch, onProgress) =>
    new Promise<UploadAnswer>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", UPLOAD_URL);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Idempotency-Key", batch.key);
      const size = batch.files.reduce((sum, item) => sum + item.size, 0);
      xhr.upload.onprogress = (event) => {
        // The multipart body is a little larger than the files: report their share.
        if (event.lengthComputable && event.total > 0) {
          onProgress((event.loaded / event.total) * size);
        }
      };
      xhr.onload = () => {
        let body: unknown;
        try {
          body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          body = xhr.responseText;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body as UploadAnswer);
        else if (xhr.status === 0) reject(new NetworkError(`POST ${UPLOAD_URL}: no answer`));
        else reject(new ApiError(xhr.status, body, `POST ${UPLOAD_URL} → ${xhr.status}`));
      };
      const lost = () => reject(new NetworkError(`POST ${UPLOAD_URL}: connection lost`));
      xhr.onerror = lost;
      xhr.onabort = lost;
      xhr.ontimeout = lost;
      const form = new FormData();
      form.append("project", String(projectId));
      for (const item of batch.files) {
        form.append("files", item.file, item.path.split("/").pop() || "upload");
      }
      xhr.send(form);
    });
}
