"""TransE on Nations (it ships with PyKEEN) with negsamp's exact filtered
negative sampler.

``ExactNegativeSampler`` drops into PyKEEN's pipeline like its own
samplers.  With ``filtered=True`` every negative is valid and none is
dropped: PyKEEN's filtered ``BasicNegativeSampler`` masks out the
negatives that are training triples (a third of them or more on a graph
as dense as Nations).  The script trains both and prints the loss and the
filtered MRR of each.

Run: ``python examples/pykeen_transe.py`` (needs ``pip install 'negsamp[pykeen]'``).
"""
from pykeen.pipeline import pipeline
from pykeen.sampling import BasicNegativeSampler

from negsamp.integrations.pykeen import ExactNegativeSampler


def train(sampler, epochs=20, seed=0, **kwargs):
    result = pipeline(dataset="Nations", model="TransE", negative_sampler=sampler,
                      negative_sampler_kwargs=dict(num_negs_per_pos=4, **kwargs),
                      training_kwargs=dict(num_epochs=epochs, batch_size=256, use_tqdm=False),
                      evaluation_kwargs=dict(use_tqdm=False), random_seed=seed, device="cpu")
    mrr = result.metric_results.get_metric("both.realistic.inverse_harmonic_mean_rank")
    return result.losses, mrr


def main(epochs=20):
    exact = train(ExactNegativeSampler, epochs)
    pykeen = train(BasicNegativeSampler, epochs, filtered=True)
    return exact, pykeen


if __name__ == "__main__":
    (losses, mrr), (their_losses, their_mrr) = main()
    print(f"negsamp ExactNegativeSampler: loss {losses[0]:.3f} -> {losses[-1]:.3f}, MRR {mrr:.3f}")
    print(f"PyKEEN BasicNegativeSampler:  loss {their_losses[0]:.3f} -> {their_losses[-1]:.3f}, "
          f"MRR {their_mrr:.3f}")
