/**
 * Files for tests: copies of the project's folders (e.g. `train/`) that a
 * test may change, such as a server's enrolment writing photos into them.
 *
 * @module
 */

/** Copies the folder `from` (files and subfolders) to `to`. */
export async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) {
      await copyDir(`${from}/${entry.name}`, `${to}/${entry.name}`);
    } else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}
