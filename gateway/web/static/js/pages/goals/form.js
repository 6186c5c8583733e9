// The new-goal form: type, target and date with the API's ranges on the inputs.
import { h, field, localDay, onSubmit } from "../../ui.js";
import { GOAL_TYPES, dateAttrs, targetAttrs, typeOf } from "./types.js";

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** The form; ``create(fields)`` sends it (a refusal it throws is shown under the form). */
export function createForm(create) {
  const options = Object.entries(GOAL_TYPES).map(([name, type]) => [name, type.label]);
  const type = field("Goal type", { name: "goal_type", required: true }, options);
  const target = field("Target", targetAttrs("workouts_count", 5));
  const date = field("Target date", dateAttrs(localDay(new Date(Date.now() + WEEK_MS))));
  const unit = h("span", { class: "muted unit" }, typeOf("workouts_count").unit(5));
  target.append(unit);
  type.querySelector("select").addEventListener("change", (event) => {
    const chosen = typeOf(event.target.value);
    const input = target.querySelector("input");
    Object.assign(input, { min: chosen.min, step: chosen.step });
    unit.textContent = chosen.unit(2);
  });
  const form = h("form", { class: "goal-new", "aria-label": "New goal" }, type, target, date,
    h("button", { type: "submit" }, "Add goal"));
  onSubmit(form, async (values) => {
    await create({ goal_type: values.goal_type, target_value: Number(values.target_value), target_date: values.target_date });
  });
  return form;
}

