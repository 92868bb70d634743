// Memorable run names in MLflow's `adjective-noun-NNN` shape, for runs created without a
// name (the MLflow server and file store do the same and set `mlflow.runName` to it).

import { randomInt } from "node:crypto";

const ADJECTIVES = [
  "amber", "ample", "agile", "bold", "brave", "bright", "brisk", "calm", "clever", "cosmic",
  "crisp", "curious", "dapper", "daring", "eager", "earnest", "fancy", "fearless", "gentle",
  "glad", "golden", "graceful", "grand", "happy", "honest", "humble", "jolly", "keen", "kind",
  "lively", "lucky", "merry", "mighty", "modest", "nimble", "noble", "patient", "plucky",
  "polite", "proud", "quick", "quiet", "radiant", "rapid", "serene", "sharp", "shiny", "silent",
  "smooth", "snappy", "steady", "sunny", "swift", "tidy", "tranquil", "trusty", "upbeat",
  "valiant", "vivid", "warm", "wise", "witty", "zealous", "zesty",
] as const;

const NOUNS = [
  "ant", "badger", "bat", "bear", "beaver", "bee", "bison", "boar", "bobcat", "crane", "crow",
  "deer", "dingo", "dolphin", "dove", "duck", "eagle", "eel", "elk", "falcon", "ferret", "finch",
  "fox", "frog", "gecko", "goat", "goose", "hare", "hawk", "heron", "horse", "ibis", "jay",
  "koala", "lark", "lemur", "lion", "llama", "lynx", "mole", "moose", "moth", "newt", "otter",
  "owl", "panda", "pelican", "pony", "puffin", "quail", "rabbit", "raven", "robin", "seal",
  "shark", "sloth", "snail", "sparrow", "stork", "swan", "tiger", "toad", "trout", "whale",
  "wolf", "wren", "yak", "zebra",
] as const;

const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)]!;

/** A fresh `adjective-noun-NNN` name (NNN in 0..999). */
export function generateRunName(): string {
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000)}`;
}

/** True when `name` has the shape `generateRunName` produces. */
export const isGeneratedRunName = (name: string): boolean => /^[a-z]+-[a-z]+-\d{1,3}$/.test(name);
