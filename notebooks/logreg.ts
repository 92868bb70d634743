// A logistic regression as an MLflow model from code: the notebook trains it and logs this
// file with its weights as an artifact; loadContext reads them back wherever it is loaded.
import { readFileSync } from "node:fs";

interface Row {
  x1: number;
  x2: number;
}

let w = [0, 0];
let b = 0;

export const probability = (weights: number[], bias: number, r: Row) =>
  1 / (1 + Math.exp(-(weights[0]! * r.x1 + weights[1]! * r.x2 + bias)));

export default {
  loadContext(context: { artifacts: Record<string, string> }) {
    ({ w, b } = JSON.parse(readFileSync(context.artifacts.weights!, "utf8")));
  },
  predict(rows: Row[]): number[] {
    return rows.map((r) => probability(w, b, r));
  },
};
