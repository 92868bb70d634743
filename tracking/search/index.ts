// MLflow's search language, independent of any store: filter grammar, order_by, pages.

export * from "./grammar.js";
export * from "./tokenizer.js";
export * from "./filter.js";
export * from "./order-by.js";
export * from "./page.js";
export * from "./entities-search.js";
