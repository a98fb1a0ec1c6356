"""Articles: the filtered articles as a table, with the terms that tagged them, and CSV export."""

import streamlit as st

from tracker import export, ui

ctx = ui.setup()
st.title("Articles", anchor=False)
ui.view_line(ctx)

if ctx.db.articles == 0:
    ui.empty_store_help()
    st.stop()

total = ui.read("count_articles", ctx.filters)
page_size = ui.ARTICLES_PAGE_SIZE
page = ui.page_picker(total, page_size, key="ar_page")
frame = ui.read("articles_frame", ctx.filters, limit=page_size, offset=(page - 1) * page_size)
st.caption(ui.page_caption(total, page, page_size, len(frame)))
ui.article_table(frame, ctx.labels)

if total == 0:
    st.stop()  # nothing to download
shown_col, all_col = st.columns(2)
shown_csv = export.to_csv_bytes(export.export_frame(frame), spreadsheet=True)
shown_col.download_button("Download CSV", shown_csv, key="ar_download",
                          file_name=ui.csv_name(ctx.filters, page=page if total > len(frame) else None),
                          mime="text/csv", icon="⬇️", help="Exactly the rows shown above, with the columns of "
                          "`tracker export`.")
if total > len(frame):
    ui.all_matching_download(all_col, ctx.db.location, ctx.filters, total)
