"""Motion that animates a character: constant bones per track, the floor and a world frame, foot contact and pinning."""
