/**
 * A real browser for the web page's tests and the README's screenshot:
 * Debian's chromium driven by puppeteer-core, headless, with a profile of its
 * own and nothing fetched from outside (this machine reaches no other hosts,
 * and chromium would try at every start).
 *
 * @module
 */

import puppeteer, { type Browser } from "puppeteer-core";

/** Options for {@linkcode launchChromium}. */
export interface LaunchOptions {
  /** The chromium program. */
  executablePath: string;
  /** A fresh profile folder. */
  profile: string;
  /** More chromium flags. */
  args?: string[];
}

/** Starts headless chromium. */
export async function launchChromium(options: LaunchOptions): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: options.executablePath,
    args: [
      "--no-sandbox",
      "--headless=new",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${options.profile}`,
      ...options.args ?? [],
    ],
  });
}
