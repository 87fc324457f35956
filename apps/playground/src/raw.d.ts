// Vite's ?raw imports: a file's text as a string (the specs bundled into the page).
declare module '*?raw' {
  const text: string;
  export default text;
}
