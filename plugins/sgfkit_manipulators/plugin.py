"""Hook implementations of the manipulators plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl


@hookimpl
def sgfkit_register_manipulators(register):
    register("sgf", "sgfkit_manipulators.sgf:SGF",
             declaration="sgfkit_manipulators.declarations:SGFDeclaration",
             summary="Surrogate Gradient Field: nonlinear edits towards any condition (Li et al. 2021)")
    register("interfacegan", "sgfkit_manipulators.interfacegan:InterFaceGAN",
             declaration="sgfkit_manipulators.declarations:InterFaceGANDeclaration",
             summary="linear SVM boundary normals per attribute (Shen et al. 2020)")
    register("ganspace", "sgfkit_manipulators.ganspace:GANSpace",
             declaration="sgfkit_manipulators.declarations:GANSpaceDeclaration",
             summary="principal components of w, matched to attributes (Härkönen et al. 2020)")
    register("direction", "sgfkit_manipulators.direction:Direction",
             declaration="sgfkit_manipulators.declarations:DirectionDeclaration",
             summary="one direction from a file: InterFaceGAN boundary, GANSpace component, e4e .pt")
