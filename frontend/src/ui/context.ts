/** What every screen needs: the API client, who is logged in, and the Django CSRF token. */
import { createContext, useContext } from "react";

import type { ApiClient } from "../api/client";

export interface Session {
  client: ApiClient;
  username: string;
  csrf: string;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("SessionContext missing");
  return session;
}
