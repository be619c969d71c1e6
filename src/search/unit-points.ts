// What the model-based optimizers keep of a trial: its unit-cube coordinates and its score.
// Shared by tpe and gp so both treat failed trials, integers and choices the same way.
import type { TrialResult } from "./optimizer.js";
import { pointFromUnit, unitOfPoint, type SearchSpace } from "./space.js";

/** A told trial in model coordinates; score undefined for a failed one. */
export interface UnitTrial {
  unit: number[];
  score?: number;
}

/**
 * The trial in unit coordinates. A score that is not a finite number (NaN, ±Infinity) is taken
 * as a failed trial, as undefined is: no model can fit it.
 */
export function unitTrial(space: SearchSpace, result: TrialResult): UnitTrial {
  const unit = unitOfPoint(space, result.point);
  const score = result.score;
  return typeof score === "number" && Number.isFinite(score) ? { unit, score } : { unit };
}

/**
 * The unit coordinates of the point that `u` stands for: integers and choices move to the middle
 * of their slice, so a model scores the candidate where the trial will actually run (and where
 * told trials of that value sit).
 */
export const snapUnit = (space: SearchSpace, u: readonly number[]): number[] => unitOfPoint(space, pointFromUnit(space, u));

/** A uniform point of the unit cube. */
export const uniformUnit = (dimensions: number, random: () => number): number[] =>
  Array.from({ length: dimensions }, () => random());
