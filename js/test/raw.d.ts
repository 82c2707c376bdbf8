/** Vite's `?raw` imports: the file's text. */
declare module "*?raw" {
  const text: string;
  export default text;
}

/** Vite's `import.meta.glob` (vitest runs on Vite), as the devtools test uses it. */
interface ImportMeta {
  glob(pattern: string, options: { eager: true }): Record<string, unknown>;
}
