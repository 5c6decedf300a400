"""The real-time application: GUI-free pipeline core; the Qt/Open3D front end lives in app.ui."""
