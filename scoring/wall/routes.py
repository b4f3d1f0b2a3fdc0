"""The wall display: one self-contained page for the big screen in the project office."""
from flask import Blueprint

bp = Blueprint("wall", __name__, template_folder="templates", static_folder="static",
               static_url_path="/wall-static")
