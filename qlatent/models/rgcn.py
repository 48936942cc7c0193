"""Relational graph convolutions and MolGAN's gated graph aggregation, on dense padded graphs.

A graph enters as a node tensor ``(B, V, T)`` (one-hot atom types, or a generator's soft version)
and an edge tensor ``(B, V, V, Y)`` (one-hot bond types; channel 0 is "no bond" and carries no
message). Both networks built here, MolGAN's critic and reward network, read graphs only through
sums over neighbours and over nodes, so they are invariant to a relabelling of the nodes.

References
----------
- Schlichtkrull, Kipf, Bloem, van den Berg, Titov, Welling, *Modeling Relational Data with Graph
  Convolutional Networks*, ESWC 2018 (arXiv:1703.06103), eq. (2).
- Li, Tarlow, Brockschmidt, Zemel, *Gated Graph Sequence Neural Networks*, ICLR 2016
  (arXiv:1511.05493), eq. (7) (the gated sum readout).
- De Cao, Kipf, *MolGAN: An implicit generative model for small molecular graphs*,
  arXiv:1805.11973 (2018), sec. 3.3 (critic and reward network).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from qlatent.models.mlp import ACTIVATIONS, build_mlp, check_activation, check_hidden


class RelationalGraphConv(nn.Module):
    """One R-GCN layer: ``h_i' = σ(W_0 h_i + Σ_r Σ_j A_r[i, j] W_r h_j)``.

    One weight matrix (with bias) per bond type ``r = 1 … Y−1`` and one for the self-connection;
    the "no bond" channel 0 carries no message. Messages are summed without the ``1/c_{i,r}``
    normalisation of Schlichtkrull et al., as in MolGAN (a molecule's degrees are at most 4).

    Parameters
    ----------
    in_dim
        Width of the node annotations ``h``.
    out_dim
        Width of the output annotations.
    n_bond_types
        ``Y``, edge channels including "no bond".
    activation
        Name of ``σ`` (a key of :data:`qlatent.models.mlp.ACTIVATIONS`).
    dropout
        Dropout probability on the output.
    """

    def __init__(self, in_dim: int, out_dim: int, n_bond_types: int, activation: str = "tanh",
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.n_relations = n_bond_types - 1
        self.out_dim = out_dim
        self.linear = nn.Linear(in_dim, out_dim * (self.n_relations + 1))
        self.activation = ACTIVATIONS[check_activation(activation)]()
        self.dropout = nn.Dropout(dropout)

    def forward(self, annotations: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """Annotations ``(B, V, in_dim)`` and edges ``(B, V, V, Y)`` to ``(B, V, out_dim)``."""
        return self.propagate(annotations, relation_matrix(edges))

    def propagate(self, annotations: torch.Tensor, relations: torch.Tensor) -> torch.Tensor:
        """Annotations ``(B, V, in_dim)`` and :func:`relation_matrix` ``(B, V, V·(Y−1))`` to ``(B, V, out_dim)``.

        The self-connection and the bond types are two products with row blocks of the one weight
        matrix, and the sum over neighbours and bond types is one batched product, so no
        activation tensor is sliced (a slice's backward fills a zero tensor of the whole width).
        """
        batch, n_nodes, _ = annotations.shape
        weight, bias = self.linear.weight, self.linear.bias
        width = self.out_dim
        own = F.linear(annotations, weight[:width], bias[:width])
        transformed = F.linear(annotations, weight[width:], bias[width:])
        messages = torch.bmm(relations, transformed.reshape(batch, n_nodes * self.n_relations, width))
        return self.dropout(self.activation(messages + own))


def relation_matrix(edges: torch.Tensor) -> torch.Tensor:
    """Edges ``(B, V, V, Y)`` to the bond-type adjacency ``(B, V, V·(Y−1))``: row ``i``, column
    ``j·(Y−1) + r − 1`` holds ``A_r[i, j]`` (the "no bond" channel 0 dropped), the layout
    :meth:`RelationalGraphConv.propagate` multiplies by, built once per graph for every layer."""
    batch, n_nodes, _, n_types = edges.shape
    return edges[..., 1:].reshape(batch, n_nodes, n_nodes * (n_types - 1))


class GatedGraphAggregation(nn.Module):
    """Graph-level vector ``σ'(Σ_v sigmoid(i(h_v)) ⊙ tanh(j(h_v)))`` (MolGAN eq. 6, Li et al. eq. 7).

    ``i`` and ``j`` are linear maps; the sum runs over all ``V`` node slots, so the result does not
    depend on their order. ``σ'`` is the layer's activation (tanh in MolGAN).
    """

    def __init__(self, in_dim: int, out_dim: int, activation: str = "tanh", dropout: float = 0.0) -> None:
        super().__init__()
        self.gate = nn.Linear(in_dim, out_dim)
        self.value = nn.Linear(in_dim, out_dim)
        self.activation = ACTIVATIONS[check_activation(activation)]()
        self.dropout = nn.Dropout(dropout)

    def forward(self, annotations: torch.Tensor) -> torch.Tensor:
        """Annotations ``(B, V, in_dim)`` to ``(B, out_dim)``."""
        # gate and value in one product; split's backward concatenates (no zero fill)
        both = F.linear(annotations, torch.cat((self.gate.weight, self.value.weight)),
                        torch.cat((self.gate.bias, self.value.bias)))
        gate, value = both.split(self.gate.out_features, dim=-1)
        gated = torch.sigmoid(gate) * torch.tanh(value)
        return self.dropout(self.activation(gated.sum(dim=1)))


class GraphCritic(nn.Module):
    """MolGAN's discriminator body: R-GCN layers, gated aggregation, then a dense head to one scalar.

    Each R-GCN layer after the first reads its predecessor's output concatenated with the node
    tensor, and the aggregation reads the last layer's output concatenated with the node tensor,
    as in MolGAN's encoder. The head is ``Linear → activation`` per width of ``dense_hidden``, then
    a linear map to one number; ``output="linear"`` leaves it unbounded (a WGAN critic),
    ``output="sigmoid"`` maps it to [0, 1] (the reward network).

    Parameters
    ----------
    n_atom_types, n_bond_types
        ``T`` (padding included) and ``Y`` ("no bond" included).
    conv_hidden
        Widths of the R-GCN layers (at least one).
    aggregation_dim
        Width of the gated aggregation.
    dense_hidden
        Widths of the dense head's hidden layers.
    activation
        Activation of every layer (tanh in MolGAN).
    dropout
        Dropout probability after every layer but the last.
    output
        ``"linear"`` or ``"sigmoid"``.

    Raises
    ------
    ValueError
        On no R-GCN layer, a non-positive width, an unknown activation or output.
    """

    OUTPUTS = ("linear", "sigmoid")

    def __init__(self, n_atom_types: int, n_bond_types: int, conv_hidden: Sequence[int],
                 aggregation_dim: int, dense_hidden: Sequence[int], activation: str = "tanh",
                 dropout: float = 0.0, output: str = "linear") -> None:
        super().__init__()
        conv_hidden = check_hidden("conv_hidden", conv_hidden)
        if not conv_hidden:
            raise ValueError("conv_hidden needs at least one R-GCN layer width")
        (aggregation_dim,) = check_hidden("aggregation_dim", (aggregation_dim,))
        dense_hidden = check_hidden("dense_hidden", dense_hidden)
        if output not in self.OUTPUTS:
            raise ValueError(f"output must be one of {self.OUTPUTS}, got {output!r}")
        self.output = output
        widths = [0, *conv_hidden]
        self.convolutions = nn.ModuleList(
            RelationalGraphConv(widths[k] + n_atom_types, widths[k + 1], n_bond_types, activation, dropout)
            for k in range(len(conv_hidden)))
        self.aggregation = GatedGraphAggregation(conv_hidden[-1] + n_atom_types, aggregation_dim,
                                                 activation, dropout)
        head = build_mlp(aggregation_dim, 1, dense_hidden, activation, dropout=dropout)
        self.features = head[:-1]
        self.last = head[-1]

    def forward(self, nodes: torch.Tensor, edges: torch.Tensor,
                return_features: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Score graphs: nodes ``(B, V, T)`` and edges ``(B, V, V, Y)`` to ``(B,)``.

        With ``return_features`` also return the head's last hidden layer ``(B, dense_hidden[-1])``
        (MolGAN's feature-matching features).
        """
        relations = relation_matrix(edges)
        hidden = nodes
        for convolution in self.convolutions:
            hidden = convolution.propagate(hidden if hidden is nodes else torch.cat((hidden, nodes), dim=-1),
                                           relations)
        features = self.features(self.aggregation(torch.cat((hidden, nodes), dim=-1)))
        score = self.last(features).squeeze(-1)
        if self.output == "sigmoid":
            score = torch.sigmoid(score)
        return (score, features) if return_features else score
