// Job functions for 03-reparameterize: registered by name, with retry policies ("smarts").
// Workers load this module because the config lists it under `jobs:`; so does the notebook's graph,
// whose sentinel needs the same policies.
const { ladder } = require("autocnet-ts");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.register = (registry) => {
  // A stand-in for AutoCNet's ring matcher: with a tight tolerance too few points match; each retry
  // loosens it one step along the ladder, as AutoCNet's {target_points, tolerance} steps do.
  registry.register("ring_match", async ({ kwargs }) => {
    await sleep(50);
    const matched = Math.round((kwargs.target_points * kwargs.tolerance) / 3);
    if (matched < kwargs.target_points) {
      throw new Error(`only ${matched} of ${kwargs.target_points} points matched at tolerance ${kwargs.tolerance}`);
    }
    return { matched };
  }, {
    maxfailures: 5,
    reparameterize: ladder([
      { target_points: 25, tolerance: 1 },
      { target_points: 20, tolerance: 2 },
      { target_points: 15, tolerance: 3 },
      { target_points: 10, tolerance: 4 },
    ]),
  });

  // A job that can never succeed: after maxfailures attempts it goes to the dead-letter list.
  registry.register("always_fails", async ({ id }) => {
    await sleep(20);
    throw new Error(`image ${id}: the camera model is missing`);
  }, { maxfailures: 3 });
};
