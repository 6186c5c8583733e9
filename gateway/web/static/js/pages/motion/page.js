// The Motion page: one phone's current activity, timeline, distribution and newest records,
// updated live by the shell's notifications socket (activity_changed frames).
import { api } from "../../api.js";
import { errorBox, field, h, progress, section } from "../../ui.js";
import { currentView, distributionView, readCurrent, readDistribution, readRecords, readTimeline, recordsView, timelineView } from "./panels.js";

const RANGES = [["3600", "Last hour"], ["86400", "Last 24 hours"], ["600", "Last 10 minutes"]];
const DEBOUNCE_MS = 500; // a burst of changes is read once
const FOLLOW_MS = 5000; // while windows keep coming (no frame while the activity stays)
const ACTIVE_MS = 30000; // a device whose last window ended this recently is still sending
const QUIET_LOADS = 3; // loads without a new window before the page stops reading again

/** Render the page in ``view``; returns its cleanup. */
export async function renderMotion(view, ctx) {
  const page = new MotionPage(view, ctx);
  page.build();
  const listener = (event) => page.heard(event.detail);
  window.addEventListener("notification", listener); // before the first load: no change missed
  await page.loadDevices(ctx.query.get("device"));
  return () => {
    window.removeEventListener("notification", listener);
    page.close();
  };
}

// A form row for the timeline's range (a field not stretched to the section's width).
function rangeForm(select) {
  const form = h("form", { "aria-label": "Range of the timeline and distribution" }, select.parentElement);
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}

class MotionPage {
  constructor(view, ctx) {
    Object.assign(this, { view, ctx, device: null, devices: [], loads: null, timers: new Set() });
    this.quiet = QUIET_LOADS; // nothing to follow until a frame or a recent window says so
    this.lastWindowEnd = null;
  }

  build() {
    this.picker = h("div", { class: "motion-picker" });
    this.range = field("Timeline and distribution of", { name: "range" }, RANGES).querySelector("select");
    this.range.addEventListener("change", () => this.loadPanels());
    this.now = h("div", { class: "motion-state", "aria-live": "polite", "aria-atomic": "true" });
    this.timeline = h("div", {});
    this.distribution = h("div", {});
    this.records = h("div", {});
    this.panels = h("div", { class: "motion-panels" },
      section("Current activity", this.now),
      section("Activity timeline", rangeForm(this.range), this.timeline),
      section("Distribution", this.distribution),
      section("Recent records", this.records));
    this.view.append(h("h1", {}, "Motion"), section("Device", this.picker), this.panels);
  }

  /** The user's devices; selects ``wanted`` (or the newest) and loads its panels. */
  async loadDevices(wanted) {
    this.picker.replaceChildren(progress("Loading your devices…"));
    try {
      this.devices = (await api("/devices", { signal: this.ctx.signal })).devices;
    } catch (error) {
      if (!this.ctx.signal.aborted) this.picker.replaceChildren(errorBox(error));
      return;
    }
    const ids = this.devices.map((device) => device.device_id);
    this.device = ids.includes(wanted) ? wanted : ids.includes(this.device) ? this.device : ids[0] || null;
    this.showPicker();
    this.panels.hidden = !this.device;
    if (this.device) await this.loadPanels();
  }

  showPicker() {
    const refresh = h("button", { type: "button", class: "secondary", onclick: () => this.loadDevices(this.device) }, "Refresh devices");
    if (!this.devices.length) {
      this.picker.replaceChildren(h("p", { class: "empty" },
        "No phone has sent readings yet. Post accelerometer readings to POST /sensor-data, or replay a recording: ",
        h("code", {}, "python -m services.motion.replay --email you@example.com recording.csv"),
        ". This page shows the device as soon as its first window is classified."), refresh);
      return;
    }
    const select = field("Device", { name: "device" }, this.devices.map((d) => [d.device_id, d.device_id])).querySelector("select");
    select.value = this.device;
    select.addEventListener("change", () => {
      this.device = select.value;
      this.loadPanels();
    });
    this.picker.replaceChildren(select.parentElement, refresh);
  }

  /** Every panel of the selected device; an earlier load still running is dropped. */
  async loadPanels() {
    this.loads?.abort();
    this.loads = new AbortController();
    const signal = AbortSignal.any([this.ctx.signal, this.loads.signal]);
    const device = this.device;
    history.replaceState(null, "", `${location.pathname}?device=${encodeURIComponent(device)}`);
    const span = this.span();
    const current = this.panel(this.now, "Loading the current activity…", readCurrent(device, signal), currentView, signal);
    this.panel(this.timeline, "Loading the timeline…", readTimeline(device, span, signal), (s) => timelineView(s, span), signal);
    this.panel(this.distribution, "Loading the distribution…", readDistribution(device, span, signal), distributionView, signal);
    const state = await current;
    if (!state) return;
    this.panel(this.records, "Loading the records…", readRecords(device, state.window_end, signal), recordsView, signal);
    this.follow(state.window_end);
  }

  // Read again while windows keep coming: a replayed recording's windows end in the past,
  // and a phone that stays walking sends no frame, yet its timeline grows.
  follow(windowEnd) {
    this.quiet = windowEnd === this.lastWindowEnd ? this.quiet + 1 : 0;
    this.lastWindowEnd = windowEnd;
    const recent = windowEnd && Date.now() - Date.parse(windowEnd) < ACTIVE_MS;
    if (recent || this.quiet < QUIET_LOADS) this.later(() => this.loadPanels(), FOLLOW_MS, "follow");
  }

  /** Show ``work``'s answer through ``render`` in ``box`` (progress first, an error as a sentence). */
  async panel(box, text, work, render, signal) {
    if (!box.childElementCount) box.replaceChildren(progress(text)); // a refresh keeps what is shown
    try {
      const answer = await work;
      if (!signal.aborted) box.replaceChildren(...[render(answer)].flat());
      return answer;
    } catch (error) {
      if (!signal.aborted) box.replaceChildren(errorBox(error));
      return null;
    }
  }

  span() {
    const to = new Date();
    return { from: new Date(to.getTime() - Number(this.range.value) * 1000), to };
  }

  /** A notification frame: a change of the selected device shows at once, then its panels. */
  heard(frame) {
    if (frame?.type !== "activity_changed") return;
    if (!this.devices.some((device) => device.device_id === frame.device_id)) {
      // A phone new to the list: list it (and show it if none was shown yet).
      this.later(() => this.loadDevices(this.device || frame.device_id), DEBOUNCE_MS);
      return;
    }
    if (frame.device_id !== this.device) return;
    this.now.replaceChildren(...currentView(frame));
    this.quiet = 0;
    this.later(() => this.loadPanels(), DEBOUNCE_MS, "refresh");
  }

  // One pending timer per purpose: a burst of frames restarts it.
  later(work, ms, purpose = "devices") {
    for (const timer of this.timers) if (timer.purpose === purpose) this.drop(timer);
    const timer = { purpose, id: setTimeout(() => this.timers.delete(timer) && work(), ms) };
    this.timers.add(timer);
  }

  drop(timer) {
    clearTimeout(timer.id);
    this.timers.delete(timer);
  }

  close() {
    this.loads?.abort();
    for (const timer of [...this.timers]) this.drop(timer);
  }
}
