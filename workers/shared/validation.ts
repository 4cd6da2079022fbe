// zod/mini with only the English messages. The full zod build, with every locale, made each Worker
// bundle ~800 KB, which workerd compiles on every cold start (and for every new tenant locally).
// Import zod as `import * as z from "zod/mini"` (a namespace import, so unused parts are dropped);
// this module, imported by shared/http.ts and so by every Worker, sets the messages once.
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());
