// The kernel's logo as SVG source, rendered to the PNG sizes Jupyter looks for
// (logo-32x32.png, logo-64x64.png) when the kernelspec is installed. Shapes only,
// no text, so the picture does not depend on which fonts a machine has.
import { Resvg } from "@resvg/resvg-js";

export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <rect x="2" y="2" width="60" height="60" rx="10" fill="#3178c6"/>
  <path d="M10 50 H54" stroke="#ffffff" stroke-opacity="0.45" stroke-width="2"/>
  <path d="M12 12 V50" stroke="#ffffff" stroke-opacity="0.45" stroke-width="2"/>
  <polyline points="14,44 24,34 33,39 43,22 52,16" fill="none" stroke="#ffffff"
    stroke-width="4.5" stroke-linejoin="round" stroke-linecap="round"/>
  <circle cx="43" cy="22" r="4.5" fill="#0194e2" stroke="#ffffff" stroke-width="2.5"/>
</svg>`;

/** PNG bytes of the logo, `size` pixels square. */
export function renderLogoPng(size: number): Buffer {
  const resvg = new Resvg(LOGO_SVG, {
    fitTo: { mode: "width", value: size },
    font: { loadSystemFonts: false },
  });
  return resvg.render().asPng();
}
