import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { ApiClient } from "./api/client";
import { App } from "./ui/App";
import { SessionContext } from "./ui/context";
import "./ui/styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("#root is missing from the page");
const session = {
  username: root.dataset.username ?? "",
  csrf: root.dataset.csrf ?? "",
  client: new ApiClient({ csrfToken: root.dataset.csrf ?? "" }),
};

createRoot(root).render(
  <StrictMode>
    <SessionContext.Provider value={session}>
      <App />
    </SessionContext.Provider>
  </StrictMode>,
);
