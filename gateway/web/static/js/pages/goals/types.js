// The goal types the API knows, with what a person reads and what the target input allows.
import { localDay, num } from "../../ui.js";

/** goal_type → {label, unit(value), step, min}; the API takes 0 < target ≤ 10,000,000. */
export const GOAL_TYPES = {
  workouts_count: { label: "Workouts", unit: (value) => (value === 1 ? "workout" : "workouts"), step: 1, min: 1 },
  active_minutes: { label: "Active minutes", unit: () => "min", step: 1, min: 1 },
  calories_burned: { label: "Calories burned", unit: () => "kcal", step: 1, min: 1 },
  distance_km: { label: "Distance", unit: () => "km", step: 0.1, min: 0.1 },
};
export const MAX_TARGET = 10000000;
export const MAX_DATE = "9999-12-31";

/** The type's description, for a type the page does not know too. */
export function typeOf(goalType) {
  return GOAL_TYPES[goalType] || { label: goalType, unit: () => "", step: "any", min: 0.01 };
}

/** "5 workouts", "30 min". */
export function amount(goalType, value) {
  return `${num(value, 1)} ${typeOf(goalType).unit(value)}`.trim();
}

/** A YYYY-MM-DD date as the reader writes dates (read as a calendar day, not UTC midnight). */
export function day(text) {
  const [year, month, date] = String(text).split("-").map(Number);
  const value = new Date(year, month - 1, date);
  return Number.isNaN(value.getTime()) ? text : value.toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** The inputs of a target value and date, with the API's ranges as min/max. */
export function targetAttrs(goalType, value) {
  const type = typeOf(goalType);
  return { name: "target_value", type: "number", required: true, min: type.min, max: MAX_TARGET, step: type.step, inputmode: "decimal", value };
}

/** The date input's attributes: today (the reader's calendar) or later. */
export function dateAttrs(value) {
  return { name: "target_date", type: "date", required: true, min: localDay(new Date()), max: MAX_DATE, value };
}
