/**
 * Whether the system's Python can import some modules, for the tests that
 * compare with native OpenCV or run the original Python client.
 *
 * @module
 */

/** True when `/usr/bin/python3 -c "import <modules>"` succeeds. */
export function pythonImports(modules: string): boolean {
  try {
    return new Deno.Command("/usr/bin/python3", {
      args: ["-c", `import ${modules}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}
