// The names tslab's converter gives the files of a conversion (its virtual files in the
// notebook's folder, and the input of its CommonJS step), for the layers that recognise them.

/** The cell being converted. */
export const CELL_FILE = /(^|[\\/])__tslab__\.ts$/;
/** The cell's emitted JavaScript. */
export const CELL_JS = /(^|[\\/])__tslab__\.js$/;
/** What earlier cells declared. */
export const DECLARATIONS_FILE = /(^|[\\/])__prev__\.d\.ts$/;
/** The input of the step that turns the emitted ES module into CommonJS (transpileModule's fileName). */
export const COMMONJS_INPUT = "custom.js";
