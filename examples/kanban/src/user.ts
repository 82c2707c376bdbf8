const NAMES = ["Sarah", "Amir", "Lena", "Kofi", "Mei", "Tomas", "Priya", "Jon"];

/** This tab's display name: `?user=` in the URL, else one remembered for the tab. */
export function currentUser(): string {
  const fromUrl = new URLSearchParams(location.search).get("user");
  if (fromUrl) return fromUrl;
  const saved = sessionStorage.getItem("kanban-user");
  if (saved) return saved;
  const name = NAMES[Math.floor(Math.random() * NAMES.length)]!;
  sessionStorage.setItem("kanban-user", name);
  return name;
}
