"""Live streaming of one performer's motion to other programs (the VMC protocol over OSC/UDP); Qt-free."""
