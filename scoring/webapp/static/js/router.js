// A small hash router: "#/post", "#/outbox", "#/post/copy/<client_id>" … Screens register themselves
// with the roles that may see them; a screen a role may not use is neither shown nor reachable (and the
// API refuses it anyway). Later screens (the contractor's notices, the office console, the leaders' view)
// are more entries in main.js's list.

const screens = [];
let mounted = null;  // {screen, cleanup}
let rendering = () => {};

export function register(...list) {
  screens.push(...list);
}

export function allowed(role) {
  return screens.filter((s) => s.roles.includes(role));
}

/** {name, params} of the current hash: "#/post/copy/abc" → {name: "post", params: ["copy", "abc"]}. */
export function current() {
  const [name = "", ...params] = window.location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return { name, params };
}

export function go(name, ...params) {
  const hash = `#/${[name, ...params].map(encodeURIComponent).join("/")}`;
  if (window.location.hash === hash) rendering();
  else window.location.hash = hash;
}

/** Start routing: `render(screen, params)` mounts a screen and returns its cleanup. */
export function start(render) {
  rendering = () => {
    if (mounted && mounted.cleanup) mounted.cleanup();
    mounted = render(current());
  };
  window.addEventListener("hashchange", rendering);
  rendering();
}

export function refresh() {
  rendering();
}

export function find(name, role) {
  const list = allowed(role);
  return list.find((s) => s.name === name) || null;
}
