"""The bundled files (weights, model card, person detector, sample clip, body): a package so that a wheel installs them.

Code finds them beside the app/, model/ and export/ packages, in a checkout and in an installed wheel alike.
"""
